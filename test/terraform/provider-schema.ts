/**
 * What a Terraform provider accepts, in the one shape the checker reads: per resource and
 * data source, its arguments (with the schema of each nested block or object) and the
 * attributes it exports.
 */
export interface BlockSchema {
  /** Arguments and nested blocks by their Terraform (snake_case) name. */
  args: Map<string, ArgSchema>;
  /** Everything a reference may read: the arguments plus computed attributes (`arn`, `dns_name`). */
  attributes: Set<string>;
}

export interface ArgSchema {
  /** The provider refuses a block without it. */
  required?: boolean;
  /** Set when the argument is a nested block or object whose own keys are checked. */
  nested?: BlockSchema;
}

export interface ProviderSchema {
  /** Registry source, e.g. `hashicorp/aws`. */
  source: string;
  /** The provider version the schema describes; `required_providers` must pin exactly this. */
  version: string;
  /** Where the schema came from, for failure messages and the report. */
  origin: string;
  resources: Map<string, BlockSchema>;
  dataSources: Map<string, BlockSchema>;
  /** The `provider "<name>" {}` block. */
  config: BlockSchema;
  /** Types the provider has whose arguments the schema source does not record (reported if used). */
  unrecorded?: Set<string>;
}
