"""What the care pathway does, step by step: the parts of :class:`itdd.care.pathway._Pathway`.

The pathway's state is :class:`.state.PathwayState`; each module adds the actions of one part of
the journey (screening and trial, operations, scheduling, clinic visits, complications) as a
mixin over that state.  The pathway asks the clinician policy (care/clinician/) and acts on its
decisions; it records the patient series with :mod:`itdd.care.series`.
"""
