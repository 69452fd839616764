import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { z } from 'zod';

/** `"50MiB"`, `"5MB"`, `1024` → bytes, as the CLI parses sizes in config.toml. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(value);
  if (!match) throw new Error(`invalid size "${value}"`);
  const n = Number(match[1]);
  const unit = (match[2] ?? 'B').toUpperCase();
  const powers: Record<string, number> = {
    B: 1,
    KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12,
    KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4,
  };
  return Math.floor(n * powers[unit]);
}

const Size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseSize(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});

const BucketSchema = z.object({
  public: z.boolean().default(false),
  file_size_limit: Size.optional(),
  allowed_mime_types: z.array(z.string()).optional(),
  objects_path: z.string().optional(),
});

const FunctionSchema = z.object({
  enabled: z.boolean().default(true),
  verify_jwt: z.boolean().default(true),
  import_map: z.string().optional(),
  entrypoint: z.string().optional(),
  static_files: z.array(z.string()).optional(),
});

/** `[auth.email.template.<type>]`: a subject and an HTML file (relative to the project directory, as the CLI reads it). */
const EmailTemplateSchema = z.object({ subject: z.string().optional(), content_path: z.string().optional() });

const LocalSmtpSchema = z.object({
  enabled: z.boolean().default(true),
  port: z.number().int().min(0).max(65535).default(54324),
  admin_email: z.string().default('admin@email.com'),
  sender_name: z.string().default('Admin'),
});

/** The parts of `supabase/config.toml` the lite stack honours; unknown keys are left to the real CLI. */
export const ProjectConfigSchema = z.object({
  project_id: z.string().default('default'),
  api: z
    .object({
      schemas: z.array(z.string()).default(['public', 'graphql_public']),
      extra_search_path: z.array(z.string()).default(['public', 'extensions']),
      max_rows: z.number().int().positive().default(1000),
    })
    .prefault({}),
  db: z
    .object({
      seed: z
        .object({ enabled: z.boolean().default(true), sql_paths: z.array(z.string()).default(['./seed.sql']) })
        .prefault({}),
    })
    .prefault({}),
  auth: z
    .object({
      site_url: z.string().default('http://127.0.0.1:3000'),
      jwt_expiry: z.number().int().positive().max(604800).default(3600),
      enable_signup: z.boolean().default(true),
      enable_anonymous_sign_ins: z.boolean().default(false),
      enable_refresh_token_rotation: z.boolean().default(true),
      refresh_token_reuse_interval: z.number().int().nonnegative().default(10),
      minimum_password_length: z.number().int().min(6).default(6),
      password_requirements: z.string().default(''),
      signing_keys_path: z.string().optional(),
      additional_redirect_urls: z.array(z.string()).default([]),
      // The CLI's keys and defaults; counts per hour (email_sent, anonymous_users) or per 5 minutes (the rest).
      rate_limit: z
        .object({
          email_sent: z.number().int().nonnegative().default(2),
          sms_sent: z.number().int().nonnegative().default(30),
          anonymous_users: z.number().int().nonnegative().default(30),
          token_refresh: z.number().int().nonnegative().default(150),
          sign_in_sign_ups: z.number().int().nonnegative().default(30),
          token_verifications: z.number().int().nonnegative().default(30),
          web3: z.number().int().nonnegative().default(30),
        })
        .prefault({}),
      email: z
        .object({
          enabled: z.boolean().default(true),
          enable_confirmations: z.boolean().default(false),
          double_confirm_changes: z.boolean().default(true),
          secure_password_change: z.boolean().default(false),
          max_frequency: z.string().default('1s'),
          otp_length: z.number().int().min(6).max(10).default(6),
          otp_expiry: z.number().int().positive().max(86400).default(3600),
          template: z.record(z.string(), EmailTemplateSchema).default({}),
          smtp: z.object({ enabled: z.boolean().default(true) }).loose().optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  // The local mailbox (Mailpit under `supabase start`); older CLIs called the section `[inbucket]`.
  local_smtp: LocalSmtpSchema.prefault({}),
  inbucket: LocalSmtpSchema.optional(),
  storage: z
    .object({
      file_size_limit: Size.default(50 * 1024 * 1024),
      buckets: z.record(z.string(), BucketSchema).default({}),
    })
    .prefault({}),
  functions: z.record(z.string(), FunctionSchema).default({}),
});

/** Parsed, defaulted project configuration. */
export type ProjectConfig = z.infer<typeof ProjectConfigSchema>;

/** Reads `<projectDir>/supabase/config.toml`; a missing file means all defaults, a malformed one fails naming the key. */
export async function loadProjectConfig(projectDir: string): Promise<ProjectConfig> {
  const path = join(projectDir, 'supabase', 'config.toml');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return ProjectConfigSchema.parse({});
  }
  const raw = parse(text) as Record<string, unknown>;
  // `[inbucket]` is the old name of `[local_smtp]`: read it when it is the only one given.
  if (raw.inbucket !== undefined && raw.local_smtp === undefined) raw.local_smtp = raw.inbucket;
  const result = ProjectConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`${path}: ${issues}`);
  }
  return result.data;
}
