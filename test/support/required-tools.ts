/**
 * The `skip` option for a suite that needs tools: a reason to skip when some are missing, or
 * false to run. In CI (`CI=true`) the tools are installed by `.ci/run`, so a missing one is a
 * failure there, not a silent skip.
 */
export function requiredTools(missing: readonly string[], options: { rootOnly?: boolean } = {}): string | false {
  const reasons = [...missing.map((tool) => `${tool} is not installed`)];
  if (options.rootOnly && process.getuid?.() !== 0) reasons.push('it needs root');
  if (reasons.length === 0) return false;
  const reason = reasons.join('; ');
  if (process.env['CI'] === 'true') throw new Error(`CI must run this suite, but ${reason}`);
  return reason;
}
