import Foundation
import MailLabTestSupport
import Testing

/// BDAT from a real client library: Perl's Net::SMTP (libnet, in Debian's perl) sends
/// `BODY=BINARYMIME` and the message as `BDAT` chunks when the server offers CHUNKING and
/// BINARYMIME. Postfix 3.7's smtp(8) never sends BDAT (PostfixInteropTests), so this is the
/// real-client side of CHUNKING next to ChunkingClientTests' hand-written pipelining client.
@Suite(.requires(.smtpd, .perl))
final class NetSMTPChunkingTests {
    static let client = #"""
        use strict; use warnings; use Net::SMTP;
        my ($port, $size, $chunk) = @ARGV;
        my $smtp = Net::SMTP->new('127.0.0.1', Port => $port, Hello => 'perl.example',
            Timeout => 20) or die "connect: $@\n";
        # supports() returns the keyword's parameters: '' for CHUNKING, undef when absent.
        die "no CHUNKING\n" unless defined $smtp->supports('CHUNKING');
        my $line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_~\r\n";
        my $body = "Subject: net-smtp bdat\r\n\r\n" . ($line x int($size / length $line));
        $smtp->mail('perl@example.com', Bits => 'binary') or die "MAIL: " . $smtp->message;
        $smtp->to('bob@us.lab') or die "RCPT: " . $smtp->message;
        my @pieces = unpack("(a$chunk)*", $body);
        my $last = pop @pieces;
        for my $p (@pieces) { $smtp->bdat($p) or die "BDAT: " . $smtp->message; }
        $smtp->bdatlast($last) or die "BDAT LAST: " . $smtp->message;
        print scalar(@pieces) + 1, " ", $smtp->code, "\n";
        $smtp->quit;
        """#

    @Test("Net::SMTP bdat/bdatlast: 100 KiB in 16 KiB chunks, BINARYMIME, every byte stored")
    func netSMTPSendsBDAT() throws {
        let directory = try TempDir("netsmtp")
        defer { directory.remove() }
        let server = try SmtpdProcess(
            config: """
                listen on 127.0.0.1 port @PORT@ hostname us.lab
                action "local" maildir "\(directory.path)/Maildir" user root
                match from any for domain "us.lab" action "local"

                """, directory: directory)
        defer { server.stop() }
        let result = try runTool(
            ExternalTool.perl.path, ["-e", Self.client, "\(server.port)", "102400", "16384"])
        #expect(result.status == 0, "\(result.output)\(result.errors)")
        #expect(result.output == "7 250\n", "\(result.output)\(result.errors)")
        let files = waitForFiles(directory.path + "/Maildir", count: 1)
        try #require(files.count == 1)
        let text = readText(files[0])
        let line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_~\n"
        #expect(text.contains("Subject: net-smtp bdat\n"))
        #expect(text.hasSuffix("\n\n" + String(repeating: line, count: 102400 / 68)))
        let trace = server.log
        #expect(trace.contains("<<< MAIL FROM:<perl@example.com> BODY=BINARYMIME"), "\(trace)")
        #expect(trace.components(separatedBy: "<<< BDAT 16384\n").count - 1 == 6, "\(trace)")
        #expect(trace.contains("<<< BDAT 4062 LAST"), "\(trace)")
        #expect(!trace.contains("<<< DATA"))
    }
}
