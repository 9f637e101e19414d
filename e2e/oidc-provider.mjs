// A real OpenID provider for tests (npm `oidc-provider`), on loopback: one client and a few
// people, its login and consent completed at once (no pages to fill in). Used by the Rust
// sign-in tests (crates/web/tests/api/oidc.rs) and the browser journey.
//
//   node e2e/oidc-provider.mjs PORT REDIRECT_URI [CLIENT_ID] [CLIENT_SECRET]
//
// Prints "ready" once it listens on http://127.0.0.1:PORT (the issuer). Who signs in is
// chosen by `as` on the interaction address (`/interaction/UID?as=una`), alice by default.
import http from 'node:http';
import Provider from 'oidc-provider';

const [port, redirectUri, clientId = 'credence', clientSecret = 'credence-test-secret'] = process.argv.slice(2);
if (!port || !redirectUri) {
  console.error('usage: node oidc-provider.mjs PORT REDIRECT_URI [CLIENT_ID] [CLIENT_SECRET]');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// alice's login at Credence is alice@test.example: the case differs on purpose.
const people = {
  alice: { email: 'Alice@Test.Example', email_verified: true, name: 'Alice Example' },
  una: { email: 'una@test.example', email_verified: false, name: 'Una Verified-Not' },
  stranger: { email: 'stranger@test.example', email_verified: true, name: 'A Stranger' },
  member: { email: 'member@test.example', email_verified: true, name: 'Mem Ber' },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Put the e-mail in the ID token itself, as most providers do.
  conformIdTokenClaims: false,
  cookies: { keys: ['credence-test-cookie-key'] },
  findAccount: (ctx, id) => people[id] && {
    accountId: id,
    claims: () => ({ sub: id, ...people[id] }),
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: false } },
});

// The interaction: the person named by `as` logs in and consents to what was asked.
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const accountId = details.session?.accountId ?? (ctx.query.as || 'alice');
  if (!people[accountId]) {
    ctx.status = 400;
    ctx.body = `no such person: ${accountId}`;
    return undefined;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  const result = { login: { accountId }, consent: { grantId } };
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  return undefined;
});

const server = http.createServer(provider.callback());
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
