// The test process talks to servers that close, reset and crash on purpose: a write to such
// a peer must be an EPIPE the test sees, not a SIGPIPE that kills every test at once (as
// smtpd, smtpctl and the libraries' own sockets do with MSG_NOSIGNAL or SIG_IGN). Runs when
// the test binary loads, before any test thread exists.
#include <signal.h>

__attribute__((constructor)) static void test_process_ignores_sigpipe(void) {
    signal(SIGPIPE, SIG_IGN);
}

int test_process_signals_linked(void) { return 1; }
