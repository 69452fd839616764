import { type FormEvent, useState } from 'react';
import type { Api } from './api.ts';
import { describeError } from './errors.ts';

type Mode = 'sign-in' | 'sign-up' | 'reset';

/** Sign in, sign up and "forgot password", all through supabase-js against the project's Auth. */
export function AuthScreen({ api }: { api: Api }) {
  const [mode, setMode] = useState<Mode>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const auth = api.supabase.auth;
      if (mode === 'sign-in') {
        const { error } = await auth.signInWithPassword({ email, password });
        if (error) throw error;
      } else if (mode === 'sign-up') {
        const { data, error } = await auth.signUp({ email, password, options: { emailRedirectTo: window.location.origin } });
        if (error) throw error;
        if (!data.session) setNotice('Check your e-mail to confirm your address, then sign in.');
      } else {
        const { error } = await auth.resetPasswordForEmail(email, { redirectTo: window.location.origin });
        if (error) throw error;
        setNotice('If an account exists for this address, an e-mail with a link to choose a new password is on its way.');
      }
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  }

  const titles: Record<Mode, string> = { 'sign-in': 'Sign in', 'sign-up': 'Create an account', reset: 'Reset your password' };
  return (
    <main className="auth">
      <h1>edgebrain</h1>
      <p className="tagline">Chat with your files.</p>
      <nav className="tabs" aria-label="Account">
        {(['sign-in', 'sign-up'] as const).map((m) => (
          <button key={m} type="button" className={mode === m ? 'active' : ''} onClick={() => setMode(m)}>
            {m === 'sign-in' ? 'Sign in' : 'Sign up'}
          </button>
        ))}
      </nav>
      <form onSubmit={submit} aria-label={titles[mode]}>
        <h2>{titles[mode]}</h2>
        <label>
          E-mail
          <input type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        {mode !== 'reset' && (
          <label>
            Password
            <input
              type="password"
              autoComplete={mode === 'sign-up' ? 'new-password' : 'current-password'}
              required
              minLength={6}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
        )}
        {error && <p role="alert" className="error">{error}</p>}
        {notice && <p role="status" className="notice">{notice}</p>}
        <button type="submit" disabled={busy}>
          {mode === 'sign-in' ? 'Sign in' : mode === 'sign-up' ? 'Sign up' : 'Send reset link'}
        </button>
        {mode === 'sign-in' && (
          <button type="button" className="link" onClick={() => setMode('reset')}>
            Forgot your password?
          </button>
        )}
      </form>
    </main>
  );
}

/** After a recovery link: the session is a recovery session; choose the new password. */
export function NewPasswordForm({ api, onDone }: { api: Api; onDone: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const { error } = await api.supabase.auth.updateUser({ password });
    if (error) setError(describeError(error));
    else onDone();
  }

  return (
    <main className="auth">
      <form onSubmit={submit} aria-label="Choose a new password">
        <h2>Choose a new password</h2>
        <label>
          New password
          <input type="password" autoComplete="new-password" required minLength={6} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit">Save password</button>
      </form>
    </main>
  );
}
