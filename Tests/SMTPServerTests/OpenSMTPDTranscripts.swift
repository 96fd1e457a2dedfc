// Generated from /work/shared/reference/opensmtpd-6.8.md, Appendix A.1-A.3, verbatim:
// OpenSMTPD 6.8.0p2's full transcripts (`C:` client bytes, `S:` server bytes, escapes and
// `<…>` annotations as the reference writes them). Replayed by OpenSMTPDTranscriptTests.

let openSMTPDTranscripts = #"""
    ### A.1 Main battery

    #### ehlo

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: EHLO defaultNS\r\n
        S: 250-vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        S: 250-8BITMIME\r\n
        S: 250-ENHANCEDSTATUSCODES\r\n
        S: 250-SIZE 36700160\r\n
        S: 250-DSN\r\n
        S: 250 HELP\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### before-helo

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: NOOP\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: MAIL FROM:<a@b.example>\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: DATA\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: HELP\r\n
        S: 214-2.0.0 This is OpenSMTPD\r\n
        S: 214-2.0.0 To report bugs in the implementation, please contact bugs@openbsd.org\r\n
        S: 214-2.0.0 with full details\r\n
        S: 214 2.0.0 End of HELP info\r\n
        C: HELO\r\n
        S: 501 5.5.1 Invalid command: HELO requires domain name\r\n
        C: HELO bad name\r\n
        S: 501 5.5.4 Invalid command arguments: Invalid domain name\r\n
        C: HELO [x]\r\n
        S: 501 5.5.4 Invalid command arguments: Invalid domain name\r\n
        C: EHLO\r\n
        S: 501 5.5.1 Invalid command: EHLO requires domain name\r\n
        C: helo lower.example\r\n
        S: 250 vm Hello lower.example [127.0.0.1], pleased to meet you\r\n
        C: HELO again.example\r\n
        S: 503 5.5.1 Invalid command: Already identified\r\n
        C: EHLO again.example\r\n
        S: 503 5.5.1 Invalid command: Already identified\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### misc-commands

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: FOO bar\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: VRFY root\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: EXPN root\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: NOOP\r\n
        S: 250 2.0.0 Ok\r\n
        C: NOOP hello\r\n
        S: 500 5.5.4 Invalid command arguments: command does not accept arguments.\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: RSET now\r\n
        S: 500 5.5.4 Invalid command arguments: command does not accept arguments.\r\n
        C: HELP\r\n
        S: 214-2.0.0 This is OpenSMTPD\r\n
        S: 214-2.0.0 To report bugs in the implementation, please contact bugs@openbsd.org\r\n
        S: 214-2.0.0 with full details\r\n
        S: 214 2.0.0 End of HELP info\r\n
        C: HELP MAIL\r\n
        S: 500 5.5.4 Invalid command arguments: command does not accept arguments.\r\n
        C: WIZ\r\n
        S: 500 5.5.1 Invalid command: this feature is not supported yet ;-)\r\n
        C: TURN\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: ETRN x\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: BDAT 10 LAST\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: STARTTLS\r\n
        S: 503 5.5.1 Invalid command: Command not supported\r\n
        C: AUTH PLAIN\r\n
        S: 503 5.5.1 Invalid command: Command not supported\r\n
        C: \r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C:  \r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: QUIT now\r\n
        S: 500 5.5.4 Invalid command arguments: command does not accept arguments.\r\n
        C: quit\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### sequence-errors

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: DATA\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: MAIL FROM:<a@b.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: MAIL FROM:<a@b.example>\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: DATA\r\n
        S: 503 5.5.4 Invalid command arguments: No recipient specified\r\n
        C: DATA now\r\n
        S: 500 5.5.4 Invalid command arguments: command does not accept arguments.\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 503 5.5.1 Invalid command: Command not allowed at this point.\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### rcpt-rejects

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO: <nobody-such-user@localhost>\r\n
        S: 550 Invalid recipient: <nobody-such-user@localhost>\r\n
        C: RCPT TO: <x@example.com>\r\n
        S: 550 Invalid recipient: <x@example.com>\r\n
        C: RCPT TO: <root@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@vm>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@[127.0.0.1]>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@LOCALHOST>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<OSDREFUSER@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser+tag@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<postmaster@localhost>\r\n
        S: 550 Invalid recipient: <postmaster@localhost>\r\n
        C: RCPT TO:<@relay.example:osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### mail-from-syntax

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM: <abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:   <abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: mail from:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:abgelaescht@ausgebuefft\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM: abgelaescht@ausgebuefft\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM :<abgelaescht@ausgebuefft>\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: MAIL FROM:\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<@ausgebuefft>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<abgelaescht@>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> trailing\r\n
        S: 503 5.5.4 Invalid command arguments: Unsupported option trailing\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> SIZE=100\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> SIZE=999999999999\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> BODY=8BITMIME\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> BODY=7BIT\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> RET=HDRS ENVID=abc\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> AUTH=<>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> SMTPUTF8\r\n
        S: 503 5.5.4 Invalid command arguments: Unsupported option SMTPUTF8\r\n
        C: MAIL FROM:<a.b.c@d.e.f>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<.ab@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<ab.@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a..b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<"a b"@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a(b)@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a,b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a;b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a:b@x.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<x:y:a@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a\b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a[b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<!#$%&'*/?^`{|}~+-=_@x.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@b@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@x_y.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@-x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@x-.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@x..example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@x.example.>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@.x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@x y.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@[127.0.0.1]>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@[IPv6:::1]>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@[300.0.0.1]>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@[127.0.0.1]x>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@123>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@xn--mller-kva.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<m\xc3\xbcller@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@m\xc3\xbcller.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<;sleep 66;@x.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<;sleep 66;>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...(277 chars total)\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...(278 chars total)\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example>\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: MAIL FROM:<a@bbbbbbbbbbbbbbbbbbbbbbbbbbb...(326 chars total)\r\n
        S: 553 5.1.0 Sender address syntax error\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### rcpt-syntax

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:osdrefuser@localhost\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: RCPT TO: osdrefuser@localhost\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: RCPT TO:<>\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: RCPT TO:<@localhost>\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: RCPT TO:<osdrefuser@localhost> NOTIFY=SUCCESS,FAILURE\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@localhost> NOTIFY=NEVER,SUCCESS\r\n
        S: 553 NOTIFY option NEVER cannot be combined with other options\r\n
        C: RCPT TO:<osdrefuser@localhost> ORCPT=rfc822;osdrefuser@localhost\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@localhost> ORCPT=bogus\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@localhost> FOO=bar\r\n
        S: 503 Unsupported option FOO=bar\r\n
        C: RCPT TO:<;sleep 66;@localhost>\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: RCPT TO:<a..b@localhost>\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: RCPT TO:<"quoted"@localhost>\r\n
        S: 501 5.1.3 Recipient address syntax error\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### no-header-at-all

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: first body line\r\nsecond body line\r\n
        C: .\r\n
        S: 550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### blank-line-first-no-header

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: \r\nNoHeaderBlankFirst body line\r\n
        C: .\r\n
        S: 250 2.0.0 c5fba557 Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### header-but-no-blank-line

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: test\r\nbody without separating blank line\r\n
        C: .\r\n
        S: 550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### empty-message

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: <nothing: the '.' below is sent directly after the 354>
        C: .\r\n
        S: 250 2.0.0 14cc5e62 Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### colon-line-first

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Hallo: Welt ColonFirst\r\nzweite Zeile\r\n
        C: .\r\n
        S: 550 5.7.1 Delivery not authorized, message refused: Message is not RFC 2822 compliant\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### header-only-no-body

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: HeaderOnly\r\n
        C: .\r\n
        S: 250 2.0.0 89834c7f Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### headers-rewrite

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: From: abgelaescht\r\nTo: osdrefuser, "Some One" <other>\r\nCc: x@y.example\r\nBcc: secret@example.com\r\nSubject: HeadersRewrite\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <given@example>\r\n X-Folded-Start: bad\r\n\r\n..dot-stuffed line\r\n
        C: .\r\n
        S: 250 2.0.0 b78b5579 Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### long-lines

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: <'X' * 2000>\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: NOOP\r\n
        S: 250 2.0.0 Ok\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: LongBodyLine\r\n\r\n<'B' * 2000>\r\n<'C' * 10000>\r\n
        C: .\r\n
        S: 250 2.0.0 423ab280 Message accepted for delivery\r\n
        C: <'X' * 2047>\r\n
        S: 500 5.5.1 Invalid command: Command unrecognized\r\n
        C: <'X' * 2048>\r\n
        S: 500 5.0.0 Command line too long\r\n
        S: <connection closed by server>

    #### line-too-long-65535

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: <'X' * 70000>\r\n
        S: 500 5.0.0 Line too long\r\n
        S: <connection reset>
        S: <connection closed by server>

    #### data-line-too-long

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: x\r\n\r\n<'D' * 70000>\r\n
        S: 500 5.0.0 Line too long\r\n
        S: <connection reset>
        S: <connection closed by server>

    #### bare-lf

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: BareLF\n\nline one\nline two\n
        C: .\n
        S: 250 2.0.0 ca848e27 Message accepted for delivery\r\n
        C: QUIT\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### bare-cr-inside

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: BareCR\r\n\r\nbefore\rafter\r\n
        C: .\r\n
        S: 250 2.0.0 bcbf63ad Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### smuggle-lf-dot-crlf-split

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: SmuggleSplit\r\n\r\nlegit body\n.\r\n
        S: 250 2.0.0 33fa9187 Message accepted for delivery\r\n
        C: MAIL FROM:<smuggled@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: Smuggled\r\n\r\nsmuggled body\r\n
        C: .\r\n
        S: 250 2.0.0 a1d2d26c Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### smuggle-lf-dot-lf

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: SmuggleLfDotLf\r\n\r\nlegit body\n.\n
        S: 250 2.0.0 e0c91fdf Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### smuggle-cr-dot-cr

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: SmuggleCrDotCr\r\n\r\nlegit body\r.\r
        S: <no reply within 3s>
        C: .\r\n
        S: <no reply within 10s>
        C: QUIT\r\n
        S: <no reply within 10s>
        S: <connection still open after 3s>

    #### smuggle-single-write

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: SmuggleOneWrite\r\n\r\nlegit\r\n.\r\nMAIL FROM:<smuggled@ausgebuefft>\r\n
        S: 500 5.5.1 Invalid command: Pipelining not supported\r\n
        S: <connection closed by server>

    #### pipelining

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: NOOP\r\nNOOP\r\n
        S: 500 5.5.1 Invalid command: Pipelining not supported\r\n
        S: <connection closed by server>

    #### loop-detect

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Received: from hop0 by x\r\nReceived: from hop1 by x\r\n ... (100 Received: lines total, hop0..hop99) ... Subject: Loop\r\n\r\nbody\r\n
        C: .\r\n
        S: 500 5.4.6 Routing loop detected: Loop detected\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### two-messages-one-session

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: First\r\n\r\nbody1\r\n
        C: .\r\n
        S: 250 2.0.0 3d436889 Message accepted for delivery\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: Second\r\n\r\nbody2\r\n
        C: .\r\n
        S: 250 2.0.0 a2e02c24 Message accepted for delivery\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### multi-rcpt-received

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@[127.0.0.1]>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: TwoRcpt\r\n\r\nbody\r\n
        C: .\r\n
        S: 250 2.0.0 e243fae1 Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### ehlo-esmtp-received

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: EHLO defaultNS\r\n
        S: 250-vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        S: 250-8BITMIME\r\n
        S: 250-ENHANCEDSTATUSCODES\r\n
        S: 250-SIZE 36700160\r\n
        S: 250-DSN\r\n
        S: 250 HELP\r\n
        C: MAIL FROM:<>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: EhloNullSender\r\n\r\nbody\r\n
        C: .\r\n
        S: 250 2.0.0 82f2dd5b Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### client-disconnect-mid-data

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: Aborted\r\n\r\npartial\r\n
        C: <client closes connection>


    ### A.2 Boundary checks

    #### 99-received-headers

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: <99 'Received: from hopN by x' header lines>\r\nSubject: Hops99\r\n\r\nbody\r\n
        C: .\r\n
        S: 250 2.0.0 d31f3570 Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### valid-rcpt-then-rejected-rcpt

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<x@example.com>\r\n
        S: 550 Invalid recipient: <x@example.com>\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: ForClause\r\n\r\nbody\r\n
        C: .\r\n
        S: 250 2.0.0 93d83e1d Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>


    ### A.3 Limits instance (max-message-size 1000, max-rcpt 2, max-mails 2; port 2526)

    #### ehlo-size-and-too-big

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: EHLO defaultNS\r\n
        S: 250-vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        S: 250-8BITMIME\r\n
        S: 250-ENHANCEDSTATUSCODES\r\n
        S: 250-SIZE 1000\r\n
        S: 250-DSN\r\n
        S: 250 HELP\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft> SIZE=5000\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: big\r\n\r\n<11 lines of 'x'*99>\r\n
        C: .\r\n
        S: 554 5.3.4 Message too big for system: Transaction failed, message too big\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### just-under-limit

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: fits\r\n\r\n<9 lines of 'y'*99>\r\n
        C: .\r\n
        S: 250 2.0.0 97be056f Message accepted for delivery\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### too-many-rcpts

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@[127.0.0.1]>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: RCPT TO:<osdrefuser@vm>\r\n
        S: 451 4.5.3 Too many recipients: Too many recipients\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>

    #### too-many-mails

        S: 220 vm ESMTP OpenSMTPD\r\n
        C: HELO defaultNS\r\n
        S: 250 vm Hello defaultNS [127.0.0.1], pleased to meet you\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: m0\r\n\r\nbody\r\n
        C: .\r\n
        S: 250 2.0.0 31e5306d Message accepted for delivery\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 250 2.0.0 Ok\r\n
        C: RCPT TO:<osdrefuser@localhost>\r\n
        S: 250 2.1.5 Destination address valid: Recipient ok\r\n
        C: DATA\r\n
        S: 354 Enter mail, end with "." on a line by itself\r\n
        C: Subject: m1\r\n\r\nbody\r\n
        C: .\r\n
        S: 250 2.0.0 0f19df62 Message accepted for delivery\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 452 4.5.3 Too many recipients: Too many messages sent\r\n
        C: RSET\r\n
        S: 250 2.0.0 Reset state\r\n
        C: MAIL FROM:<abgelaescht@ausgebuefft>\r\n
        S: 452 4.5.3 Too many recipients: Too many messages sent\r\n
        C: QUIT\r\n
        S: 221 2.0.0 Bye\r\n
        S: <connection closed by server>
    """#
