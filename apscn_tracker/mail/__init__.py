"""Email: render templates, queue in the outbox, deliver through a file or SMTP transport."""
