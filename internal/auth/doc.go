package auth

// How the pieces fit (for the web and ingest layers):
//
//   - Web login: Login(ctx, email, password, ip, ua) → token for an
//     HttpOnly, SameSite=Lax cookie; on each request LookupSession(token)
//     gives the principal to put in ctx with WithPrincipal (after setting
//     Principal.IP); Logout(token) at logout. State-changing requests check
//     ValidCSRF(session, submitted) — see ValidCSRF.
//   - JSON API: AuthenticateAPIKey(secret) → principal, from
//     "Authorization: Bearer kza_…".
//   - Ingestion: AuthenticateWriteKey(secret) → key id, from HTTP Basic with
//     the key as user name (Segment's scheme).
//   - Everything else goes through Service methods that call Require.
//   - Security events of other capabilities: AuditTx inside the
//     transaction that makes the change.
