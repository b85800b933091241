"""The conversation: one module per intent, found through a table in `dispatch`."""
