# genkey: rules go here
