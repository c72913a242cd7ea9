"""The Kanban board: columns, the board pages, live moves, and wall displays."""
