import type { Session } from '@supabase/supabase-js';
import { useCallback, useEffect, useState } from 'react';
import { Account } from './Account.tsx';
import type { Api } from './api.ts';
import { AuthScreen, NewPasswordForm } from './Auth.tsx';
import { ChatPanel } from './Chat.tsx';
import { Documents } from './Documents.tsx';

/** Signed out: the auth screen. Signed in: documents, chat and the account bar. */
export function App({ api }: { api: Api }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [recovering, setRecovering] = useState(false);
  // Bumped after each answer, so the usage meter re-reads today's count.
  const [usageVersion, setUsageVersion] = useState(0);

  useEffect(() => {
    api.supabase.auth.getSession().then(({ data }) => setSession(data.session));
    const { data } = api.supabase.auth.onAuthStateChange((event, next) => {
      setSession(next);
      if (event === 'PASSWORD_RECOVERY') setRecovering(true);
    });
    return () => data.subscription.unsubscribe();
  }, [api]);

  const answered = useCallback(() => setUsageVersion((v) => v + 1), []);

  if (session === undefined) return <p className="loading">Loading…</p>;
  if (!session) return <AuthScreen api={api} />;
  if (recovering) return <NewPasswordForm api={api} onDone={() => setRecovering(false)} />;
  return (
    <div className="layout">
      <Account api={api} email={session.user.email ?? ''} usageVersion={usageVersion} />
      <ChatPanel api={api} onAnswered={answered} />
      <Documents api={api} />
    </div>
  );
}
