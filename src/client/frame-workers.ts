/**
 * A frame computed in parts on several cores: module workers running this very bundle compute the lower rows
 * while the page's thread computes the top rows, so a 1280x720 in-between costs the page only its share of the
 * warps (91 % of decoding; see README "Video at the bitstream's rate"). The parts are the rows `rowsOf` writes,
 * byte for byte the frame `pixelsOf` computes. Keyframes cross to each worker once; rows go there and back in
 * transferred buffers.
 */
import { recipeSize, rowsOf, type FrameRecipe, type RgbImage, type RowRange, type WarpPlan } from './decode';

/** Keyframes a worker keeps: an in-between needs two, and playback moves forwards through a segment. */
const KEPT_IMAGES = 8;

/** A recipe as it crosses to a worker: keyframes by the id they were sent under. */
type SentRecipe =
  | { kind: 'still'; image: number }
  | { kind: 'warp'; image: number; plan: WarpPlan }
  | { kind: 'blend'; a: number; planA: WarpPlan; weightA: number; b: number; planB: WarpPlan; weightB: number };

type ToWorker = { type: 'image'; id: number; image: RgbImage } | { type: 'forget'; id: number } | { type: 'rows'; seq: number; recipe: SentRecipe; rows: RowRange; out: ArrayBuffer };

type FromWorker = { seq: number; out: ArrayBuffer } | { seq: number; error: string };

/** The scope a worker answers on (a DedicatedWorkerGlobalScope). */
export interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

/** The worker's side: computes the rows it is asked for. */
export function serveFrameRows(scope: WorkerScope): void {
  const images = new Map<number, RgbImage>();
  const image = (id: number) => {
    const found = images.get(id);
    if (found === undefined) throw new Error(`frame worker: keyframe ${id} was never sent or was forgotten`);
    return found;
  };
  scope.onmessage = ({ data: message }) => {
    if (message.type === 'image') images.set(message.id, message.image);
    else if (message.type === 'forget') images.delete(message.id);
    else {
      try {
        const r = message.recipe;
        const recipe: FrameRecipe =
          r.kind === 'still'
            ? { kind: 'still', image: image(r.image) }
            : r.kind === 'warp'
              ? { kind: 'warp', image: image(r.image), plan: r.plan }
              : { kind: 'blend', a: image(r.a), planA: r.planA, weightA: r.weightA, b: image(r.b), planB: r.planB, weightB: r.weightB };
        rowsOf(recipe, message.rows, new Uint8Array(message.out));
        scope.postMessage({ seq: message.seq, out: message.out }, [message.out]);
      } catch (err) {
        scope.postMessage({ seq: message.seq, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
}

/** One worker, seen from the page: the keyframes it holds and the rows it is computing. */
class RowWorker {
  private readonly ids = new Map<RgbImage, number>();
  private nextId = 0;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (rows: Uint8Array) => void; reject: (error: Error) => void }>();
  private readonly spare: ArrayBuffer[] = [];
  failure: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
      const waiting = this.pending.get(data.seq);
      this.pending.delete(data.seq);
      if ('error' in data) waiting?.reject(new Error(data.error));
      else waiting?.resolve(new Uint8Array(data.out));
    };
    // a worker that cannot load or that throws fails every part asked of it; the page then computes frames itself
    worker.onerror = (event) => {
      event.preventDefault();
      this.failure = new Error(`the frame worker failed: ${event.message || 'it did not start'}`);
      for (const { reject } of this.pending.values()) reject(this.failure);
      this.pending.clear();
    };
  }

  rows(recipe: FrameRecipe, rows: RowRange, bytes: number): Promise<Uint8Array> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const seq = this.seq++;
    let out = this.spare.pop();
    if (out === undefined || out.byteLength !== bytes) out = new ArrayBuffer(bytes);
    const sent: SentRecipe =
      recipe.kind === 'still'
        ? { kind: 'still', image: this.send(recipe.image) }
        : recipe.kind === 'warp'
          ? { kind: 'warp', image: this.send(recipe.image), plan: recipe.plan }
          : { kind: 'blend', a: this.send(recipe.a), planA: recipe.planA, weightA: recipe.weightA, b: this.send(recipe.b), planB: recipe.planB, weightB: recipe.weightB };
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.post({ type: 'rows', seq, recipe: sent, rows, out }, [out]);
    });
  }

  /** Hands a part's buffer back for the next frame. */
  recycle(rows: Uint8Array): void {
    if (this.spare.length < 2) this.spare.push(rows.buffer as ArrayBuffer);
  }

  close(): void {
    this.worker.terminate();
  }

  private send(image: RgbImage): number {
    let id = this.ids.get(image);
    if (id !== undefined) {
      // most recently used last: a Map iterates in insertion order
      this.ids.delete(image);
      this.ids.set(image, id);
      return id;
    }
    id = this.nextId++;
    this.post({ type: 'image', id, image });
    this.ids.set(image, id);
    for (const [old, oldId] of this.ids) {
      if (this.ids.size <= KEPT_IMAGES) break;
      this.ids.delete(old);
      this.post({ type: 'forget', id: oldId });
    }
    return id;
  }

  private post(message: ToWorker, transfer: Transferable[] = []): void {
    this.worker.postMessage(message, transfer);
  }
}

/**
 * Workers to start by default: one per core beyond two — the page's thread and the browser's compositor each
 * need one (on 2 cores, headless Chromium decoded and drew 720p at 45 frames/s on the page alone and 35 with one
 * worker) — and at most three (a part of 180 rows at 720p).
 */
export function defaultFrameWorkers(): number {
  const cores = typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency || 1;
  return Math.max(0, Math.min(3, cores - 2));
}

/** The page's side: `pixels(recipe)` is the frame `pixelsOf(recipe)` computes, computed in parts in parallel. */
export class FrameWorkers {
  private readonly spare: Uint8Array[] = [];
  /** The frame buffers this made (a still keyframe is handed out as it is and must never be reused). */
  private readonly ours = new WeakSet<Uint8Array>();

  private constructor(private workers: RowWorker[]) {}

  /** `count` workers running the module at `bundleUrl` (this bundle), or null where module workers cannot start. */
  static start(bundleUrl: string, count: number): FrameWorkers | null {
    if (count < 1 || typeof Worker === 'undefined') return null;
    try {
      return new FrameWorkers(Array.from({ length: count }, () => new RowWorker(new Worker(bundleUrl, { type: 'module' }))));
    } catch {
      return null;
    }
  }

  /** Workers still working (a failed one is dropped; its part falls to the page). */
  get size(): number {
    return this.workers.length;
  }

  async pixels(recipe: FrameRecipe): Promise<RgbImage> {
    const { width, height } = recipeSize(recipe);
    if (recipe.kind === 'still') return recipe.image;
    const stride = width * 3;
    let out = this.spare.pop();
    if (out === undefined || out.length !== stride * height) {
      out = new Uint8Array(stride * height);
      this.ours.add(out);
    }
    const workers = this.workers;
    const share = Math.ceil(height / (workers.length + 1));
    const parts = workers.map((worker, i) => {
      const rows = { from: Math.min(height, (i + 1) * share), to: Math.min(height, (i + 2) * share) };
      return { worker, rows, computed: worker.rows(recipe, rows, (rows.to - rows.from) * stride) };
    });
    // the workers have their parts: the page computes the top rows meanwhile
    rowsOf(recipe, { from: 0, to: Math.min(height, share) }, out.subarray(0, Math.min(height, share) * stride));
    for (const { worker, rows, computed } of parts) {
      const part = await computed.catch(() => {
        this.workers = this.workers.filter((w) => w !== worker);
        worker.close();
        return null;
      });
      const at = out.subarray(rows.from * stride, rows.to * stride);
      if (part === null) rowsOf(recipe, rows, at);
      else {
        at.set(part);
        worker.recycle(part);
      }
    }
    return { width, height, data: out };
  }

  /** Hands a frame's buffer back once it is drawn. */
  recycle(frame: RgbImage): void {
    if (this.ours.has(frame.data) && this.spare.length < 2) this.spare.push(frame.data);
  }

  close(): void {
    for (const worker of this.workers) worker.close();
    this.workers = [];
  }
}
