# tests/dns: rules go here
