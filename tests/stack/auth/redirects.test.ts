import { describe, expect, it } from 'vitest';
import { compileRedirectPattern, isRedirectUrlValid } from '../../../stack/auth/redirects.ts';

const settings = {
  siteUrl: 'https://app.example.com',
  redirectAllowList: ['https://*.example.app/auth/callback', 'http://localhost:3000/**', 'myapp://login-{a,b}', 'https://x.example.org/p?'],
};

describe('redirect allow-list (GoTrue glob rules)', () => {
  it.each([
    ['https://app.example.com/anything?x=1', true],
    ['https://app.example.com:8443/', false],
    ['http://app.example.com/', false],
    ['https://pr-1.example.app/auth/callback', true],
    ['https://a.b.example.app/auth/callback', false],
    ['https://pr-1.example.app/auth/callback/more', false],
    ['http://localhost:3000/deep/path/here#frag', true],
    ['http://localhost:4000/', false],
    ['http://127.0.0.1:9999/anything', true],
    ['http://2130706433/', false],
    ['http://10.0.0.1/', false],
    ['myapp://login-a', true],
    ['myapp://login-c', false],
    ['https://x.example.org/p1', true],
    ['https://x.example.org/p/', false],
    ['https://evil.example.com/', false],
    ['not a url', false],
    ['', false],
  ])('%s → %s', (url, allowed) => {
    expect(isRedirectUrlValid(settings, url)).toBe(allowed);
  });

  it('accepts any port on loopback when site_url is on loopback', () => {
    expect(isRedirectUrlValid({ siteUrl: 'http://127.0.0.1:3000', redirectAllowList: [] }, 'http://127.0.0.1:5173/cb')).toBe(true);
    expect(isRedirectUrlValid({ siteUrl: 'http://localhost:3000', redirectAllowList: [] }, 'http://localhost:5173/cb')).toBe(true);
  });

  it('compiles classes and escapes', () => {
    expect(compileRedirectPattern('https://[a-c]x.test/\\*').test('https://bx.test/*')).toBe(true);
    expect(compileRedirectPattern('https://[!a-c]x.test/').test('https://bx.test/')).toBe(false);
  });
});
