"""The watch (見守り): people, consent, the alert engine, notifications and the responders' app."""
