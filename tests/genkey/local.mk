# tests/genkey: rules go here
