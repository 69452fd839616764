import { EMBEDDING_DIMENSIONS, EmbeddingError } from './types.ts';

/**
 * Copies `values` into a unit-length `number[]`, or returns `undefined` when the norm is zero or not finite
 * (such a vector has no direction, and pgvector's cosine distance of it is NaN).
 */
export function toUnitVector(values: ArrayLike<number>): number[] | undefined {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) return undefined;
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] / norm;
  return out;
}

/**
 * Checks one vector a model returned and normalises it: it must be {@link EMBEDDING_DIMENSIONS} wide (else an
 * `invalid_dimensions` error with the message `widthHint(width)` gives) and have a finite, non-zero norm (else
 * `invalid_response`). Normalising again costs little and makes unit length hold whatever the model did.
 */
export function checkedUnitVector(
  values: ArrayLike<number>,
  source: string,
  widthHint: (width: number) => string,
): number[] {
  if (values.length !== EMBEDDING_DIMENSIONS) {
    throw new EmbeddingError('invalid_dimensions', widthHint(values.length), { retryable: false });
  }
  const unit = toUnitVector(values);
  if (!unit) {
    throw new EmbeddingError('invalid_response', `${source} returned a zero or non-finite vector.`, { retryable: false });
  }
  return unit;
}
