"""One widget a module; the app composes them and tells them when the session moved."""
