# opendkim: rules go here
