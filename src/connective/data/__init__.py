"""Survey data: reading, validation against a model, simulation from a model."""
