"""The models: the litellm adapter and the embedded offline default model."""
