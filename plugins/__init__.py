"""podbridge's built-in plugins. Each is found through the ``podbridge.plugins`` entry points."""
