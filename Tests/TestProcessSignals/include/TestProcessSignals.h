#pragma once
/// Referenced from MailLabTestSupport so the constructor's object is always linked.
int test_process_signals_linked(void);
