// SMTPConfig: smtpd.conf for MailLab, after OpenSMTPD 6.8's parse.y (reference:
// /work/shared/reference/opensmtpd-6.8.md §1). Pure: no I/O except `SMTPConfiguration.load`.
//
// Files:
//   ConfigLexer            tokens (yylex/lgetc): continuation, comments, quotes, macros
//   ConfigParser           token stream, values, error messages, recovery per statement
//   ConfigStatements       dispatch, macros, include
//   ConfigTableParser      table statements, <name>, { … } and single-value tables
//   ConfigSettingsParser   pki/ca and global settings (smtp, queue, bounce, mta, …)
//   ConfigListenParser     listen on …
//   ConfigActionParser     action … (and relay options of both grammars)
//   ConfigMatchParser      match …
//   ConfigOldRuleParser    accept/reject/limit of the ≤ 6.0 grammar
//   FormatTemplate         %{…} format specifiers, checked at parse time, expanded later
//   the model              SMTPConfiguration, ConfigListen, ConfigActions, ConfigRules,
//                          ConfigTables, ConfigErrors
//
// Both grammars, one model, on purpose: OpenSMTPD 6.4+ refuses the old statements
// (`accept … deliver to …`, `limit session`, top-level `max-message-size`, `expire`,
// `certificate`, `mask-source`, …) with a bare "syntax error"; MailLab accepts them, and
// old and new statements may be mixed in one file. An old `accept` line becomes an action
// named `accept-line-N` and a rule; `reject` a rule with `.reject`.
//
// Other departures from OpenSMTPD 6.8, each tested:
// - Syntax errors name the unexpected token, what came before it and what was expected;
//   unquoted paths say that paths must be quoted; reserved words used as names say to
//   quote them. Errors are `FILE:LINE: message`, all collected; a statement continued
//   with `\` reports its first line.
// - `no rules, nothing to do` is an error located at the last line of the top file
//   (OpenSMTPD prints `warn: no rules, nothing to do` without a location).
// - A relative maildir path is allowed (resolved by the server against its working
//   directory). Include and table paths must still be absolute.
// - `%{…}` format specifiers are checked when the file is parsed (OpenSMTPD fails at
//   delivery time).
// - Bare numbers are accepted where a string is expected (`tag 5`), CR before LF is a
//   blank, `\` at end of file and an unterminated quote are reported.
// - `smtp limit max-rcpt|max-mails` must be at least 1.
// - Interfaces and host names are not resolved here (the server does it), so
//   `invalid virtual ip or interface` is not a parse error.
// - `filter` and `proc` statements only declare names (MailLab runs no filters).
