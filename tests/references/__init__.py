"""Hand-written plain-Keras reference models, independent of archspec."""
