/** The number shapes every config block uses, so each block file reads the same. */
import { z } from "zod";

export const positiveInt = z.number().int().positive();
/** Node timers cannot wait longer than 2^31-1 ms (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;
export const durationMs = z.number().int().positive().max(MAX_TIMER_MS);
export const durationMsOrZero = z.number().int().nonnegative().max(MAX_TIMER_MS);
export const nonNegativeInt = z.number().int().nonnegative();
export const port = z.number().int().min(0).max(65535);
