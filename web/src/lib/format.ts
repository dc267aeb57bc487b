export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return '–';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function usd(n: number | null | undefined): string {
  return n == null ? '–' : `$${n.toFixed(4)}`;
}

export const STATUS_LABEL: Record<string, string> = {
  PENDING: 'Queued',
  PROCESSING: 'Making',
  COMPLETED: 'Ready',
  FAILED: 'Failed',
  CANCELLED: 'Cancelled',
};

export const STAGES = ['SCRIPT', 'NARRATION', 'VISUALS', 'ASSEMBLY', 'UPLOAD'] as const;

export const STAGE_LABEL: Record<string, string> = {
  SCRIPT: 'Script',
  NARRATION: 'Narration',
  VISUALS: 'Visuals',
  ASSEMBLY: 'Assembly',
  UPLOAD: 'Upload',
};
