import { readFile, readdir } from 'node:fs/promises';

/**
 * CPU used on the whole machine versus by the bench and its servers, so a report can say how much
 * other work shared the CPUs during the run (its figures are then lower bounds).
 */
export interface CpuSnapshot {
  /** Busy jiffies of all CPUs (user+nice+system+irq+softirq+steal). */
  busy: number;
  /** Of those, interrupt work (irq+softirq), which the kernel charges to no process: loopback traffic is mostly the bench's own. */
  interrupts: number;
  /** Total jiffies of all CPUs. */
  total: number;
  /** utime+stime jiffies of the bench and everything it started, living or gone (`treeJiffies`). */
  ours: number;
}

/** utime+stime jiffies of a process (0 once it is gone). */
export async function processJiffies(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command: state is [0]; utime is field 14 overall, [11] here; stime [12].
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

/** CPU seconds (user and system) a process has used: jiffies are 10 ms (Linux's USER_HZ of 100). */
export async function processCpuSeconds(pid: number): Promise<number> {
  return (await processJiffies(pid)) / 100;
}

export async function cpuSnapshot(): Promise<CpuSnapshot> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const interrupts = (irq ?? 0) + (softirq ?? 0);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + interrupts + (steal ?? 0);
  const total = busy + (idle ?? 0) + (iowait ?? 0);
  return { busy, interrupts, total, ours: await treeJiffies() };
}

/**
 * CPU jiffies of the process `root` and all its descendants, living and gone: each living one's
 * utime+stime and the cutime+cstime of the children it reaped (so the ab and curl runs, and the
 * PostgreSQL backends, count after they exit).
 */
export async function treeJiffies(root: number = process.pid): Promise<number> {
  const stats = new Map<number, { parent: number; jiffies: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14].
    if (fields.length < 15) continue;
    stats.set(Number(entry), { parent: Number(fields[1]), jiffies: [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0) });
  }
  const inTree = (pid: number): boolean => {
    for (let at = pid, hops = 0; at > 1 && hops < 64; hops++) {
      if (at === root) return true;
      at = stats.get(at)?.parent ?? 0;
    }
    return false;
  };
  let total = 0;
  for (const [pid, { jiffies }] of stats) if (inTree(pid)) total += jiffies;
  return total;
}

/** Share of the machine's CPU time used by processes the bench did not start between two snapshots (0..1), interrupt work left out. */
export function foreignShare(before: CpuSnapshot, after: CpuSnapshot): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  const others = after.busy - before.busy - (after.interrupts - before.interrupts) - (after.ours - before.ours);
  return Math.max(0, others / total);
}

export async function loadAverage(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}
