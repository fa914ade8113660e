"""People with names and memories: the cast a run follows, the ties and the memory of loss that
change what people do, and the stories told from what happened to them.

* :mod:`.ties`: households and bands, and the one-byte memory of loss (the model, ABM);
* :mod:`.cast`: choosing whom to follow (declared characters, or a generated cast) and recording
  their lives, observation only;
* :mod:`.names`: names for a generated cast, from a list shipped with the package;
* :mod:`.story`: the lives as prose, JSON and timelines;
* :mod:`.commands`: ``aftermath story``.
"""
