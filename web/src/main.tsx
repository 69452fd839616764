import { createClient } from '@supabase/supabase-js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Api } from './api.ts';
import { App } from './App.tsx';
import { loadConfig } from './config.ts';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
const config = loadConfig();
if ('missing' in config) {
  root.render(
    <main className="setup">
      <h1>edgebrain</h1>
      <p>
        This app does not know its Supabase project. Build it with {config.missing.join(' and ')} set, or open it from{' '}
        <code>npm run dev</code>.
      </p>
    </main>,
  );
} else {
  // A browser session (localStorage), refreshed before it expires; the recovery link's tokens are read from the URL.
  const supabase = createClient(config.supabaseUrl, config.publishableKey, {
    auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: true },
  });
  root.render(
    <StrictMode>
      <App api={new Api(config, supabase)} />
    </StrictMode>,
  );
}
