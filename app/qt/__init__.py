"""Qt widgets, the main window and the modes. Widgets subscribe to models; they compute nothing."""
