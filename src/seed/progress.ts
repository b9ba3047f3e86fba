/** A one-line progress bar on stderr (a plain line per update when not a terminal). */
export function progress(label: string, total: number) {
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let lastPrinted = 0;
  let finished = false;
  return {
    update(done: number) {
      const now = Date.now();
      if (finished || (done < total && now - lastPrinted < (tty ? 100 : 2000))) return;
      finished = done >= total;
      lastPrinted = now;
      const ratio = total === 0 ? 1 : done / total;
      const bar = "█".repeat(Math.round(ratio * 24)).padEnd(24, "░");
      const line = `${label.padEnd(12)} ${bar} ${(ratio * 100).toFixed(0).padStart(3)}% ${done.toLocaleString("en")}/${total.toLocaleString("en")} ${((now - started) / 1000).toFixed(1)}s`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
    done(): number {
      this.update(total);
      if (tty) process.stderr.write("\n");
      return Date.now() - started;
    },
  };
}
