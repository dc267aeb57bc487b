// WebVTT → SubRip, for the SRT download (the API serves the VTT).
export function vttToSrt(vtt: string): string {
  const blocks = vtt.replace(/\r\n?/g, '\n').split(/\n{2,}/);
  const out: string[] = [];
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.length > 0);
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) continue; // header, NOTE, STYLE
    const [start, end] = lines[at].split('-->').map((t) => srtTime(t.trim().split(/\s+/)[0]));
    out.push(`${out.length + 1}\n${start} --> ${end}\n${lines.slice(at + 1).join('\n')}`);
  }
  return out.join('\n\n') + (out.length ? '\n' : '');
}

function srtTime(t: string): string {
  const parts = t.split(':');
  if (parts.length === 2) parts.unshift('00');
  const [h, m, rest] = parts;
  const [s, ms = '000'] = rest.split('.');
  return `${h.padStart(2, '0')}:${m.padStart(2, '0')}:${s.padStart(2, '0')},${ms.padEnd(3, '0').slice(0, 3)}`;
}
