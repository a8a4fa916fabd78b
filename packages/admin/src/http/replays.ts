/**
 * Answers already given to an `Idempotency-Key` (or a form's one-time token), for 24 h:
 * a retried request gets the first answer back instead of acting twice. A stored
 * answer never holds a plaintext key: a replayed issue says the key was already shown.
 */
export class Replays {
  private readonly answers = new Map<string, { at: number; status: number; body: unknown }>();

  constructor(
    private readonly now: () => number,
    private readonly max = 10_000,
  ) {}

  get(id: string): { status: number; body: unknown } | undefined {
    const answer = this.answers.get(id);
    if (!answer) return undefined;
    if (this.now() - answer.at > 24 * 3_600_000) {
      this.answers.delete(id);
      return undefined;
    }
    return answer;
  }

  set(id: string, status: number, body: unknown): void {
    if (this.answers.size >= this.max) {
      const oldest = this.answers.keys().next().value;
      if (oldest !== undefined) this.answers.delete(oldest);
    }
    this.answers.set(id, { at: this.now(), status, body: withoutKey(body) });
  }
}

function withoutKey(body: unknown): unknown {
  if (typeof body === 'object' && body !== null && 'key' in body) return { ...body, key: null, replayed: true };
  return body;
}
