/** The description of a stand-in RPM, shared by the plan, its scaling and the RPM builder. */

/** A stand-in RPM to build (always noarch). */
export interface StandInRpm {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  /** Extra `Provides:` (from the upstream catalogue). */
  readonly provides?: readonly string[];
  /** `Requires:` (from the upstream catalogue, and fillers at release scale). */
  readonly requires?: readonly string[];
  /** Release scale: bytes of seeded random payload (incompressible) the RPM carries. */
  readonly payloadBytes?: number;
}
