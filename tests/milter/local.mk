# tests/milter: rules go here
