"""Rollback watcher: every unit restarted by an update is watched for a probation window;
a bad update is rolled back to the previous image."""
