// A real OpenID Connect provider on loopback for the browser sign-in test.
//
// The protocol is panva's oidc-provider (OpenID Certified), unchanged; this file only supplies
// what every deployment of it must: the accounts, the one client (Handoff), the signing key and
// the login page. Its settings come from the JSON file named by the first argument:
//
//   {"port": 9000, "app_url": "http://127.0.0.1:8501", "client_id": "handoff",
//    "client_secret": "...", "users": {"cmo@example.com":
//      {"password": "...", "name": "Chief Marketing Officer", "email_verified": true}}}
//
// It prints "listening <issuer>" once it serves, and stops on SIGTERM.
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${settings.port}`;
const callback = `${settings.app_url}/oauth2callback`;
const users = settings.users;

// A fresh signing key per run: nothing secret is kept in the repository.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'run' };

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>${escape(title)}</title><style>
body{font-family:sans-serif;background:#f1f5f9;margin:0;padding:60px 0}
main{background:#fff;width:340px;margin:0 auto;padding:24px 32px;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.2)}h1{font-size:20px}label{display:block;margin:12px 0 4px}
input{width:100%;box-sizing:border-box;padding:8px;font-size:15px}
button{margin-top:18px;width:100%;padding:10px;font-size:15px;background:#2563eb;color:#fff;
border:0;border-radius:4px}.error{color:#b91c1c}</style></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

function loginPage(uid, email = '', error = '') {
  return page('Example Corp sign-in', `
<p>Sign in to continue to Handoff.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="email">E-mail</label><input id="email" name="email" type="email" value="${escape(email)}" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button></form>`);
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: settings.client_id,
    client_secret: settings.client_secret,
    redirect_uris: [callback],
    post_logout_redirect_uris: [callback],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Streamlit reads who signed in from the ID token, not from the userinfo endpoint, so the
  // ID token carries the granted claims (as Google's, Okta's or Entra's do).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource(ctx, form) {
        ctx.body = page('Sign out of Example Corp?', `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>`);
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: user.email_verified, name: user.name };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<p class="error">${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
});

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// The interaction routes: the login form, and consent granted without asking, as a company's
// own identity provider does for its own applications.
async function interaction(req, res, loginPost) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;
  if (prompt.name === 'consent') {
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (loginPost) {
    const form = await readForm(req);
    const email = (form.get('email') || '').trim().toLowerCase();
    const user = users[email];
    if (user && user.password === form.get('password')) {
      await provider.interactionFinished(req, res, { login: { accountId: email } }, { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(uid, email, 'Wrong e-mail or password.'));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(loginPage(uid, params.login_hint || ''));
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  const match = new URL(req.url, issuer).pathname.match(/^\/interaction\/[^/]+(\/login)?$/);
  if (!match) {
    handle(req, res);
    return;
  }
  interaction(req, res, Boolean(match[1]) && req.method === 'POST').catch((error) => {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`Sign-in failed: ${error.message}`);
  });
});
server.listen(settings.port, '127.0.0.1', () => console.log(`listening ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
