"""Reports on the live system's journal (read-only): the daily report and its Telegram summary."""
