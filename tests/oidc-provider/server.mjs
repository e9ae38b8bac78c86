// A real OpenID provider for Warden's end-to-end tests: the certified `oidc-provider`
// package with its development login form (any login, any password: the login names
// the account). Nothing here imitates a provider's answers; the tests only choose
// who exists and what claims they carry.
//
// Environment:
//   ACCOUNTS_FILE   JSON object: account id -> claims. Re-read at every lookup, so a
//                   test changes a user's groups by rewriting it.
//   REDIRECT_URIS   comma-separated callback URLs of the client.
//   CLIENT_ID, CLIENT_SECRET   the client Warden is registered as.
//   ID_TOKEN_CLAIMS=1          put every claim in the ID token too (otherwise the
//                              scoped claims come from userinfo only, the default).
//   PORT            0 (default) picks a free port.
// Prints one JSON line `{"issuer": "..."}` once it listens.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const env = process.env;
const accountsFile = env.ACCOUNTS_FILE;
if (!accountsFile) {
  console.error('ACCOUNTS_FILE is required');
  process.exit(2);
}

function accounts() {
  return JSON.parse(readFileSync(accountsFile, 'utf8'));
}

const server = http.createServer();
server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: env.CLIENT_ID ?? 'warden',
        client_secret: env.CLIENT_SECRET ?? 'warden-secret',
        redirect_uris: (env.REDIRECT_URIS ?? '').split(',').filter(Boolean),
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    // Every authorization request must carry a PKCE challenge.
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'groups', 'roles', 'organizations', 'department'],
    },
    conformIdTokenClaims: env.ID_TOKEN_CLAIMS !== '1',
    async findAccount(_ctx, sub) {
      const claims = accounts()[sub];
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...claims }) };
    },
    // Consent is granted at once: the tests exercise Warden, not this page.
    async loadExistingGrant(ctx) {
      const clientId = ctx.oidc.client.clientId;
      const existing = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId);
      if (existing) {
        const grant = await ctx.oidc.provider.Grant.find(existing);
        if (grant) return grant;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: true } },
    ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
