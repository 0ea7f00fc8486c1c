/** Types for asl-validator 4, which ships none: a CommonJS function that checks an ASL definition. */
declare module 'asl-validator' {
  interface AslValidationResult {
    isValid: boolean;
    errors: { message?: string }[];
    errorsText(separator?: string): string;
  }
  export default function aslValidator(
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ): AslValidationResult;
}
