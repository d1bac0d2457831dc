"""Email: MIME building and SMTP delivery (aiosmtplib), and the Danish templates."""
