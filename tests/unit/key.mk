# tests/unit: rules go here
