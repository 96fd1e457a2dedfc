import SMTPConfig
import Testing

@testable import SMTPServer

@Suite struct ServerPlanTests {
    /// The Maildirs whose stale tmp/ files are removed at start are exactly the paths the
    /// router resolved as fixed: no templates, no home directories, not the discard path.
    @Test func fixedMaildirsAreThePathsTheRouterResolved() throws {
        let configuration = try SMTPConfiguration.parse(
            """
            listen on 127.0.0.1 port 2525
            action "fixed" maildir "/srv/mail/box"
            action "again" maildir "/srv/mail/./box"
            action "relative" maildir "boxes/lab"
            action "template" maildir "/srv/mail/%{user.username}"
            action "home" maildir "~/Maildir"
            action "discard" maildir "/dev/null"
            action "default" maildir
            match from any for local action "fixed"
            """, fileName: "plan.conf", includeLoader: { _ in "" })
        var options = MailServer.Options()
        options.serverName = "vm"
        options.workingDirectory = "/work"
        options.users = FakeUsers(names: ["root"])
        let plan = try ServerPlan(configuration, options: options)
        #expect(plan.fixedMaildirs == ["/srv/mail/box", "/work/boxes/lab"])
        #expect(plan.listeners.map(\.address.description) == ["127.0.0.1:2525"])
    }
}
