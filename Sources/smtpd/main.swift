print("smtpd")
