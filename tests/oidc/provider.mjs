// A real OpenID Connect provider for the single sign-on tests: panva/oidc-provider (OpenID
// Certified), with its development login and consent pages. Any login is accepted; the login is
// the account's e-mail address, reported as verified (a login starting "unverified" is not).
//
//   node provider.mjs <port> <client_id> <client_secret> <redirect_uri>
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

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
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: !id.startsWith('unverified'), name: id.split('@')[0] };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['trainshed-tests-only'] },
});
provider.proxy = false;

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
