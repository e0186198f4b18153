# tests/interop: rules go here
