import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gcProfileHeading, keptByHandHeading, keptByHandSection, profileHeading, profileSection, summarize, verdictText, writeProfileSection } from './report.js';

describe('the results table', () => {
  it('gives no ratio and no verdict when Distribution\'s figure is not positive (a time above a floor that was below it)', () => {
    const metric = { key: 'above', label: 'Push, above the local copy', unit: 'ms', better: 'lower' as const, target: { kind: 'ratioAtMost' as const, value: 0.5 } };
    const [below] = summarize({ berth: { above: [-50] }, distribution: { above: [-100] }, machine: {} }, [metric]);
    assert.ok(Number.isNaN(below?.ratio));
    assert.equal(below?.verdict, 'n/a');
    const [above] = summarize({ berth: { above: [-50] }, distribution: { above: [100] }, machine: {} }, [metric]);
    assert.equal(above?.ratio, -0.5);
    assert.equal(above?.verdict, 'met');
  });
});

describe('a missed target beside its bound', () => {
  const target = { kind: 'ratioAtMost' as const, value: 0.5 };
  const serverBound = { key: 'bareOver', label: 'bare registry', server: true };

  it('gives the bound\'s own ratio when a bare server misses the target too', () => {
    const metric = { key: 'over', label: 'Push, above the local copy', unit: 'ms', better: 'lower' as const, target, bound: serverBound };
    const [row] = summarize({ berth: { over: [460] }, distribution: { over: [580] }, machine: { bareOver: [450] } }, [metric]);
    assert.ok(row);
    assert.equal(row.verdict, 'missed');
    assert.equal(verdictText(row), "missed (the bound's own: 0.78x)");
  });

  it('says only missed when the bare server meets the target, or when the bound is a client\'s ceiling', () => {
    const reached = { key: 'over', label: 'Push, above the local copy', unit: 'ms', better: 'lower' as const, target, bound: serverBound };
    const [row] = summarize({ berth: { over: [460] }, distribution: { over: [580] }, machine: { bareOver: [200] } }, [reached]);
    assert.ok(row);
    assert.equal(verdictText(row), 'missed');
    const ceiling = { key: 'rate', label: 'GET', unit: 'req/s', better: 'higher' as const, target: { kind: 'ratioAtLeast' as const, value: 10 }, bound: { key: 'ceiling', label: 'ab ceiling' } };
    const [client] = summarize({ berth: { rate: [7000] }, distribution: { rate: [1000] }, machine: { ceiling: [5000] } }, [ceiling]);
    assert.ok(client);
    assert.equal(verdictText(client), 'missed');
  });

  it('says met when the target is met, whatever the bound', () => {
    const metric = { key: 'over', label: 'Push, above the local copy', unit: 'ms', better: 'lower' as const, target, bound: serverBound };
    const [row] = summarize({ berth: { over: [200] }, distribution: { over: [580] }, machine: { bareOver: [450] } }, [metric]);
    assert.ok(row);
    assert.equal(verdictText(row), 'met');
  });
});

describe('the profiles\' sections of the report', () => {
  it('is written after the rest of the file, then replaced in place, the rest kept', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-report-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'performance.md');
    await writeFile(file, '# Performance\n\n## Results\n\n| a |\n');
    await writeProfileSection(file, `${profileHeading}\n\nfirst\n`);
    await writeProfileSection(file, `${profileHeading}\n\nsecond\n`);
    const text = await readFile(file, 'utf8');
    assert.equal(text, `# Performance\n\n## Results\n\n| a |\n\n${profileHeading}\n\nsecond\n`);
    assert.equal(profileSection(text), `${profileHeading}\n\nsecond\n`);
  });

  it('is replaced in place when another profile\'s section follows it, which is kept', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-report-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'performance.md');
    await writeFile(file, '# Performance\n\n## Results\n\n| a |\n');
    await writeProfileSection(file, `${profileHeading}\n\n### Rounds\n\nfirst\n`);
    await writeProfileSection(file, `${gcProfileHeading}\n\ngc first\n`, gcProfileHeading);
    await writeProfileSection(file, `${profileHeading}\n\nsecond\n`);
    await writeProfileSection(file, `${gcProfileHeading}\n\ngc second\n`, gcProfileHeading);
    const text = await readFile(file, 'utf8');
    assert.equal(text, `# Performance\n\n## Results\n\n| a |\n\n${profileHeading}\n\nsecond\n\n${gcProfileHeading}\n\ngc second\n`);
    assert.equal(profileSection(text), `${profileHeading}\n\nsecond\n\n${gcProfileHeading}\n\ngc second\n`);
  });

  it('is absent from a report without its heading', () => {
    assert.equal(profileSection('# Performance\n\n## Results\n'), undefined);
  });
});

describe('the section kept by hand', () => {
  it('runs from its heading to the next section\'s, or to the end', () => {
    const kept = `${keptByHandHeading}\n\n| Choice | Measured |\n|---|---|\n| a | b |\n`;
    assert.equal(keptByHandSection(`# Performance\n\n## Every round\n\nx\n\n${kept}\n## Webhooks (Berth)\n\ny\n`), kept);
    assert.equal(keptByHandSection(`# Performance\n\n${kept}`), kept);
    assert.equal(keptByHandSection('# Performance\n\n## Results\n'), undefined);
  });
});
