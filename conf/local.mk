# conf: rules go here
