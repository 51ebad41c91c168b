/**
 * The observatory's payloads as the page sees them: types only, from the server's contract
 * (`import type` is erased from the bundle, so the page ships neither TypeBox nor the
 * validators; the server validates). The values the page needs are restated here and
 * typed by the server's, so a change there that the page does not follow fails to compile.
 */
import type {
  GAIN_RANGE as ContractGainRange,
  MAX_NOTE_CHARS as ContractMaxNoteChars,
  NOTES_TOPIC as ContractNotesTopic,
  statusTopic as contractStatusTopic,
} from "@lifeline/demo-server/contract";

export type {
  Direction,
  NodeInfo,
  Note,
  ObservatorySpec,
  PageConfig,
  TelescopeInfo,
  TelescopeState,
  TelescopeStatus,
  TelescopesEvent,
  Tick,
} from "@lifeline/demo-server/contract";

export const GAIN_RANGE: typeof ContractGainRange = { min: 0, max: 300 };
export const statusTopic: typeof contractStatusTopic = (id) => `telescope/${id}/status`;
export const NOTES_TOPIC: typeof ContractNotesTopic = "demo/notes";
/** The contract's longest note: the form stops there, before the server would refuse it. */
export const MAX_NOTE_CHARS: typeof ContractMaxNoteChars = 500;
